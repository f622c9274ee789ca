// SPDX-License-Identifier: MIT
/*
 * test_cgroup.c: the parsers behind cgroup_init() (src/cgroup.c), on the
 * texts of real machines: this v1 hybrid machine kind (memory in a
 * per-job group, pids and cpu at the root), a pure v2 host under systemd,
 * co-mounted cpu,cpuacct, a mount showing a subtree, and escapes.  The
 * cgroups themselves are exercised by tests/integration/test_pool.py and
 * tests/security/test_hostile.py against the real server.
 */
#include <errno.h>
#include <string.h>

#include "cgroup.h"
#include "t.h"

/* /proc/self/cgroup and mountinfo of this machine kind (v1 hybrid). */
static const char hybrid_cg[] = "9:name=systemd:/\n"
				"8:pids:/\n"
				"7:blkio:/\n"
				"4:memory:/process_api/ecc6b1c3\n"
				"2:cpuacct:/\n"
				"1:cpu:/\n"
				"0::/\n";
static const char hybrid_mi[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "
	"rw,cpuacct\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
	"rw,memory\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
	"rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 "
	"rw\n";

/* A pure v2 host: one line in /proc/self/cgroup. */
static const char v2_cg[] = "0::/system.slice/sandpool.service\n";
static const char v2_mi[] =
	"22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
	"26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 "
	"- cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

/* Docker-style v1: co-mounted cpu,cpuacct, mounts showing a subtree, a
 * mount point with an escaped blank. */
static const char co_cg[] = "5:cpu,cpuacct:/docker/abc\n"
			    "3:memory:/docker/abc\n"
			    "2:pids:/docker/abc\n";
static const char co_mi[] =
	"100 90 0:40 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - "
	"cgroup cgroup rw,cpu,cpuacct\n"
	"101 90 0:41 /docker/abc /sys/fs/cgroup/mem\\040ory rw - cgroup "
	"cgroup rw,memory\n"
	"102 90 0:42 /other /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";

TEST(self_path)
{
	char p[256];

	CHECK_INT(cgroup_self_path(hybrid_cg, "memory", p, sizeof(p)), ==, 0);
	CHECK_STR(p, "/process_api/ecc6b1c3");
	CHECK_INT(cgroup_self_path(hybrid_cg, "pids", p, sizeof(p)), ==, 0);
	CHECK_STR(p, "/");
	CHECK_INT(cgroup_self_path(hybrid_cg, "cpu", p, sizeof(p)), ==, 0);
	CHECK_STR(p, "/");
	CHECK_INT(cgroup_self_path(hybrid_cg, "", p, sizeof(p)), ==, 0);
	CHECK_STR(p, "/");
	/* "name=systemd" is not the controller "systemd"; cpuset absent */
	CHECK_INT(cgroup_self_path(hybrid_cg, "cpuset", p, sizeof(p)), ==,
		  -ENOENT);
	CHECK_INT(cgroup_self_path(v2_cg, "", p, sizeof(p)), ==, 0);
	CHECK_STR(p, "/system.slice/sandpool.service");
	CHECK_INT(cgroup_self_path(v2_cg, "memory", p, sizeof(p)), ==, -ENOENT);
	/* co-mounted: either name finds the line */
	CHECK_INT(cgroup_self_path(co_cg, "cpuacct", p, sizeof(p)), ==, 0);
	CHECK_STR(p, "/docker/abc");
	CHECK_INT(cgroup_self_path(co_cg, "cpu", p, sizeof(p)), ==, 0);
	CHECK_STR(p, "/docker/abc");
	/* "cpu" must not match "cpuset" */
	CHECK_INT(cgroup_self_path("3:cpuset:/x\n", "cpu", p, sizeof(p)), ==,
		  -ENOENT);
	CHECK_INT(cgroup_self_path(hybrid_cg, "memory", p, 8), ==,
		  -ENAMETOOLONG);
	CHECK_INT(cgroup_self_path("", "memory", p, sizeof(p)), ==, -ENOENT);
	CHECK_INT(cgroup_self_path("garbage\n::\n4:memory:\n", "memory", p,
				   sizeof(p)),
		  ==, -ENOENT);
}

TEST(find_mount)
{
	char m[256], r[256];

	CHECK_INT(cgroup_find_mount(hybrid_mi, "memory", m, sizeof(m), r,
				    sizeof(r)),
		  ==, 0);
	CHECK_STR(m, "/sys/fs/cgroup/memory");
	CHECK_STR(r, "/");
	CHECK_INT(
		cgroup_find_mount(hybrid_mi, "cpu", m, sizeof(m), r, sizeof(r)),
		==, 0);
	CHECK_STR(m, "/sys/fs/cgroup/cpu");
	CHECK_INT(cgroup_find_mount(hybrid_mi, "cpuacct", m, sizeof(m), r,
				    sizeof(r)),
		  ==, 0);
	CHECK_STR(m, "/sys/fs/cgroup/cpuacct");
	CHECK_INT(cgroup_find_mount(hybrid_mi, "", m, sizeof(m), r, sizeof(r)),
		  ==, 0);
	CHECK_STR(m, "/sys/fs/cgroup/unified");
	/* the tmpfs at /sys/fs/cgroup is no cgroup mount */
	CHECK_INT(cgroup_find_mount(hybrid_mi, "systemd", m, sizeof(m), r,
				    sizeof(r)),
		  ==, -ENOENT);
	CHECK_INT(cgroup_find_mount(v2_mi, "", m, sizeof(m), r, sizeof(r)), ==,
		  0);
	CHECK_STR(m, "/sys/fs/cgroup");
	CHECK_INT(
		cgroup_find_mount(v2_mi, "memory", m, sizeof(m), r, sizeof(r)),
		==, -ENOENT);
	CHECK_INT(
		cgroup_find_mount(co_mi, "cpuacct", m, sizeof(m), r, sizeof(r)),
		==, 0);
	CHECK_STR(m, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(r, "/docker/abc");
	CHECK_INT(
		cgroup_find_mount(co_mi, "memory", m, sizeof(m), r, sizeof(r)),
		==, 0);
	CHECK_STR(m, "/sys/fs/cgroup/mem ory");
	CHECK_INT(cgroup_find_mount(co_mi, "memory", m, 8, r, sizeof(r)), ==,
		  -ENAMETOOLONG);
	CHECK_INT(cgroup_find_mount("1 2 3 4\nnot a mount line\n", "memory", m,
				    sizeof(m), r, sizeof(r)),
		  ==, -ENOENT);
}

TEST(tag)
{
	char a[32], b[32], c[32];

	cgroup_make_tag("/var/lib/sandpool", a, sizeof(a));
	cgroup_make_tag("/var/lib/sandpool", b, sizeof(b));
	cgroup_make_tag("/var/lib/sandpool2", c, sizeof(c));
	CHECK_STR(a, b);
	CHECK(strcmp(a, c) != 0);
	CHECK_INT(strlen(a), ==, strlen("sandpool-") + 12);
	CHECK(strncmp(a, "sandpool-", 9) == 0);
	CHECK(strspn(a + 9, "0123456789abcdef") == 12);
}

TEST(counter)
{
	uint64_t v = 0;
	const char oom_control[] = "oom_kill_disable 0\nunder_oom 0\n"
				   "oom_kill 3\n";
	const char events[] = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\n"
			      "oom_group_kill 0";

	CHECK_INT(cgroup_counter(oom_control, "oom_kill", &v), ==, 0);
	CHECK_INT(v, ==, 3);
	CHECK_INT(cgroup_counter(events, "oom_kill", &v), ==, 0);
	CHECK_INT(v, ==, 1);
	CHECK_INT(cgroup_counter(events, "oom", &v), ==, 0);
	CHECK_INT(v, ==, 2);
	CHECK_INT(cgroup_counter(events, "oom_group_kill", &v), ==, 0);
	CHECK_INT(v, ==, 0);
	CHECK_INT(cgroup_counter(events, "absent", &v), ==, -ENOENT);
	CHECK_INT(cgroup_counter("oom_kill x\n", "oom_kill", &v), ==, -EINVAL);
	CHECK_INT(cgroup_counter("oom_kill \n", "oom_kill", &v), ==, -EINVAL);
}

T_MAIN()
