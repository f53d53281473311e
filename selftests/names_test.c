// SPDX-License-Identifier: GPL-2.0
/*
 * vactor actor table tests: CREATE, LOOKUP and DESTROY, names and ids
 * (Documentation/uapi.rst, "Operations").  Every test runs twice: through
 * the rings (SQE in, CQE out) and through VACTOR_IOC_CALL.
 */
#include "kselftest_harness.h"

#include "vactor_test.h"

#define MAX_TRACKED	256

FIXTURE(names) {
	struct vact_port p;	/* the port under test */
	struct vact_port q;	/* another port, for cross-port checks */
	uint64_t user_data;
	uint64_t created[MAX_TRACKED];	/* hosted by p, destroyed at teardown */
	unsigned int nr_created;
};

FIXTURE_VARIANT(names) {
	bool ring;
};

FIXTURE_VARIANT_ADD(names, ring) { .ring = true };
FIXTURE_VARIANT_ADD(names, call) { .ring = false };

FIXTURE_SETUP(names)
{
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, port_open(&self->q, 0, 0, 0, 0));
	self->user_data = 0x5eed0000;
}

FIXTURE_TEARDOWN(names)
{
	unsigned int i;

	/* Actors outlive ports: don't leave this test's behind. */
	for (i = 0; i < self->nr_created; i++)
		vact_destroy(&self->p, self->created[i]);
	vact_port_close(&self->q);
	vact_port_close(&self->p);
}

/* One SQE on port p the variant's way; also: nothing else completed. */
static int run_op(struct __test_metadata *_metadata,
		  FIXTURE_DATA(names) *self,
		  const FIXTURE_VARIANT(names) *variant,
		  struct vactor_sqe *in, struct vactor_cqe *cqe)
{
	int ret;

	in->user_data = ++self->user_data;
	ret = run_sqe_ok(_metadata, &self->p, variant->ring, in, cqe);
	EXPECT_TRUE(cq_idle(&self->p));
	return ret;
}

static int create(struct __test_metadata *_metadata, FIXTURE_DATA(names) *self,
		  const FIXTURE_VARIANT(names) *variant, const char *name,
		  uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	EXPECT_EQ(0, vact_prep_create(&sqe, name, 0, 0)) return -EINVAL;
	ret = run_op(_metadata, self, variant, &sqe, &cqe);
	if (ret == 0) {
		*id = cqe.actor;
		if (self->nr_created < MAX_TRACKED)
			self->created[self->nr_created++] = cqe.actor;
	}
	return ret;
}

static int lookup(struct __test_metadata *_metadata, FIXTURE_DATA(names) *self,
		  const FIXTURE_VARIANT(names) *variant, const char *name,
		  uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	EXPECT_EQ(0, vact_prep_lookup(&sqe, name, 0)) return -EINVAL;
	ret = run_op(_metadata, self, variant, &sqe, &cqe);
	if (ret == 0)
		*id = cqe.actor;
	return ret;
}

static int destroy(struct __test_metadata *_metadata, FIXTURE_DATA(names) *self,
		   const FIXTURE_VARIANT(names) *variant, uint64_t id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;

	vact_prep_destroy(&sqe, id, 0);
	return run_op(_metadata, self, variant, &sqe, &cqe);
}

/* A CREATE whose name bytes are given raw: data[0..len) as is. */
static int create_raw(struct __test_metadata *_metadata,
		      FIXTURE_DATA(names) *self,
		      const FIXTURE_VARIANT(names) *variant,
		      const void *name, uint32_t len)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;

	vact_prep_create(&sqe, NULL, 0, 0);
	memcpy(sqe.data, name, len < VACTOR_INLINE_MAX ? len : VACTOR_INLINE_MAX);
	sqe.len = len;
	return run_op(_metadata, self, variant, &sqe, &cqe);
}

#define CREATE(name, id)	create(_metadata, self, variant, name, id)
#define LOOKUP(name, id)	lookup(_metadata, self, variant, name, id)
#define DESTROY(id)		destroy(_metadata, self, variant, id)
#define CREATE_RAW(name, len)	create_raw(_metadata, self, variant, name, len)

TEST_F(names, create_unnamed)
{
	uint64_t a, b;

	ASSERT_EQ(0, CREATE(NULL, &a));
	ASSERT_EQ(0, CREATE(NULL, &b));
	EXPECT_NE(a, b);
}

TEST_F(names, create_named_then_lookup)
{
	uint64_t id, found;
	char name[VACTOR_NAME_MAX];

	unique_name(name, sizeof(name), "names.lookup");
	ASSERT_EQ(0, CREATE(name, &id));
	ASSERT_EQ(0, LOOKUP(name, &found));
	EXPECT_EQ(id, found);
}

TEST_F(names, lookup_from_another_port)
{
	uint64_t id, found;
	char name[VACTOR_NAME_MAX];

	unique_name(name, sizeof(name), "names.other");
	ASSERT_EQ(0, CREATE(name, &id));
	ASSERT_EQ(0, vact_lookup(&self->q, name, &found));
	EXPECT_EQ(id, found);
}

TEST_F(names, duplicate_name_eexist)
{
	uint64_t id, dup = 0;
	char name[VACTOR_NAME_MAX];

	unique_name(name, sizeof(name), "names.dup");
	ASSERT_EQ(0, CREATE(name, &id));
	EXPECT_EQ(-EEXIST, CREATE(name, &dup));
	EXPECT_EQ(0, dup);
}

TEST_F(names, duplicate_name_from_another_port_eexist)
{
	uint64_t id;
	char name[VACTOR_NAME_MAX];

	unique_name(name, sizeof(name), "names.dup2");
	ASSERT_EQ(0, CREATE(name, &id));
	EXPECT_EQ(-EEXIST, vact_create(&self->q, name, 0, NULL));
}

TEST_F(names, lookup_unknown_enoent)
{
	uint64_t id;
	char name[VACTOR_NAME_MAX];

	unique_name(name, sizeof(name), "names.nobody");
	EXPECT_EQ(-ENOENT, LOOKUP(name, &id));
}

TEST_F(names, destroy_releases_name)
{
	uint64_t first, second, found;
	char name[VACTOR_NAME_MAX];

	unique_name(name, sizeof(name), "names.again");
	ASSERT_EQ(0, CREATE(name, &first));
	ASSERT_EQ(0, DESTROY(first));
	EXPECT_EQ(-ENOENT, LOOKUP(name, &found));
	ASSERT_EQ(0, CREATE(name, &second));
	EXPECT_NE(first, second);
	ASSERT_EQ(0, LOOKUP(name, &found));
	EXPECT_EQ(second, found);
}

TEST_F(names, name_of_63_bytes_accepted)
{
	char name[VACTOR_NAME_MAX];
	uint64_t id, found;
	int n;

	n = snprintf(name, sizeof(name), "names.63.%d.", (int)getpid());
	memset(name + n, 'x', VACTOR_NAME_MAX - 1 - n);
	name[VACTOR_NAME_MAX - 1] = '\0';
	ASSERT_EQ(VACTOR_NAME_MAX - 1, strlen(name));
	ASSERT_EQ(0, CREATE(name, &id));
	ASSERT_EQ(0, LOOKUP(name, &found));
	EXPECT_EQ(id, found);
}

TEST_F(names, name_of_64_bytes_enametoolong)
{
	char name[VACTOR_NAME_MAX];

	memset(name, 'y', sizeof(name));
	EXPECT_EQ(-ENAMETOOLONG, CREATE_RAW(name, VACTOR_NAME_MAX));
}

TEST_F(names, name_length_huge_enametoolong)
{
	char name[VACTOR_NAME_MAX];

	memset(name, 'y', sizeof(name));
	EXPECT_EQ(-ENAMETOOLONG, CREATE_RAW(name, 0x10000));
}

TEST_F(names, libvact_refuses_64_byte_name)
{
	char name[VACTOR_NAME_MAX + 1];
	struct vactor_sqe sqe;

	memset(name, 'z', VACTOR_NAME_MAX);
	name[VACTOR_NAME_MAX] = '\0';
	EXPECT_EQ(-ENAMETOOLONG, vact_prep_create(&sqe, name, 0, 0));
}

TEST_F(names, embedded_nul_einval)
{
	EXPECT_EQ(-EINVAL, CREATE_RAW("ab\0cd", 5));
}

TEST_F(names, trailing_nul_einval)
{
	EXPECT_EQ(-EINVAL, CREATE_RAW("abc\0", 4));
}

TEST_F(names, ids_never_reused)
{
	uint64_t ids[64];
	char name[VACTOR_NAME_MAX];
	unsigned int i, j;

	unique_name(name, sizeof(name), "names.ids");
	for (i = 0; i < 64; i++) {
		/* Same name each time: the table must not hand the id back. */
		ASSERT_EQ(0, CREATE(i % 2 ? name : NULL, &ids[i]));
		ASSERT_EQ(0, DESTROY(ids[i]));
	}
	for (i = 0; i < 64; i++) {
		uint64_t id = ids[i];

		for (j = 0; j < i; j++)
			ASSERT_NE(id, ids[j]) TH_LOG("id %llu reused",
						     (unsigned long long)id);
	}
}

TEST_F(names, destroy_of_other_ports_actor_eperm)
{
	uint64_t theirs, found;
	char name[VACTOR_NAME_MAX];

	unique_name(name, sizeof(name), "names.theirs");
	ASSERT_EQ(0, vact_create(&self->q, name, 0, &theirs));
	EXPECT_EQ(-EPERM, DESTROY(theirs));
	/* Still there. */
	ASSERT_EQ(0, LOOKUP(name, &found));
	EXPECT_EQ(theirs, found);
	EXPECT_EQ(0, vact_destroy(&self->q, theirs));
}

TEST_F(names, create_reports_id_in_completion)
{
	char name[VACTOR_NAME_MAX];
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	uint64_t found;

	unique_name(name, sizeof(name), "names.cqe");
	ASSERT_EQ(0, vact_prep_create(&sqe, name, 7, 0));
	ASSERT_EQ(0, run_op(_metadata, self, variant, &sqe, &cqe));
	self->created[self->nr_created++] = cqe.actor;
	ASSERT_EQ(0, LOOKUP(name, &found));
	EXPECT_EQ(cqe.actor, found);
}

TEST_HARNESS_MAIN
