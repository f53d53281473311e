// SPDX-License-Identifier: GPL-2.0
/*
 * vactor module parameter tests: the tunables with a range
 * (Documentation/admin-guide.rst) load with their documented default, take
 * both ends of the range, and refuse anything else with EINVAL, keeping the
 * value they had.  Must run as root; each test puts the value back.
 */
#include "kselftest_harness.h"

#include "vactor_test.h"

FIXTURE(param) {
	long saved;
};

FIXTURE_VARIANT(param) {
	const char *path;
	long dflt, lo, hi;
};

FIXTURE_VARIANT_ADD(param, mailbox_max) {
	.path = MAILBOX_MAX_PARAM, .dflt = 1024, .lo = 1, .hi = 1048576,
};

FIXTURE_VARIANT_ADD(param, wait_spin_us) {
	.path = WAIT_SPIN_PARAM, .dflt = 50, .lo = 0, .hi = 1000,
};

FIXTURE_SETUP(param)
{
	self->saved = module_param_read(variant->path);
	ASSERT_LE(0, self->saved) TH_LOG("%s: %s", variant->path,
					 strerror((int)-self->saved));
}

FIXTURE_TEARDOWN(param)
{
	module_param_write(variant->path, self->saved);
}

/* As the module loaded: nothing before this test changes it for good. */
TEST_F(param, default_as_documented)
{
	EXPECT_EQ(variant->dflt, self->saved);
}

TEST_F(param, takes_both_ends)
{
	ASSERT_EQ(0, module_param_write(variant->path, variant->lo));
	EXPECT_EQ(variant->lo, module_param_read(variant->path));
	ASSERT_EQ(0, module_param_write(variant->path, variant->hi));
	EXPECT_EQ(variant->hi, module_param_read(variant->path));
}

TEST_F(param, refuses_below_range_keeps_value)
{
	EXPECT_EQ(-EINVAL, module_param_write(variant->path, variant->lo - 1));
	EXPECT_EQ(self->saved, module_param_read(variant->path));
}

TEST_F(param, refuses_above_range_keeps_value)
{
	EXPECT_EQ(-EINVAL, module_param_write(variant->path, variant->hi + 1));
	EXPECT_EQ(self->saved, module_param_read(variant->path));
}

TEST_F(param, refuses_non_number_keeps_value)
{
	EXPECT_EQ(-EINVAL, module_param_write_str(variant->path, "fifty\n"));
	EXPECT_EQ(-EINVAL, module_param_write_str(variant->path, "50us\n"));
	EXPECT_EQ(self->saved, module_param_read(variant->path));
}

TEST_HARNESS_MAIN
