/* The pipeline cache on disk: written under $XDG_CACHE_HOME/vkllm when a device is destroyed,
 * read back by the next one, and a damaged file is ignored (never handed to the driver). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/ops.h"
#include "test.h"

static int make_pipeline(struct gpu *g)
{
	const struct gpu_pipeline *p;
	uint32_t spec[] = {64};
	return gpu_pipeline_get(g, &p, SH_COPY_F32, spec, 1);
}

int main(void)
{
	char dir[512];
	const char *base = getenv("XDG_CACHE_HOME");
	snprintf(dir, sizeof dir, "%s/pipeline-cache-test-%ld", base && *base ? base : "/tmp", (long)getpid());
	setenv("XDG_CACHE_HOME", dir, 1);

	struct gpu g;
	REQUIRE_OK(test_gpu_open(&g));
	char path[1024];
	snprintf(path, sizeof path, "%s", g.pipeline_cache_path);
	EXPECT(strncmp(path, dir, strlen(dir)) == 0, "cache path %s is not under %s", path, dir);
	REQUIRE_OK(make_pipeline(&g));
	/* the same (shader, spec) is the same pipeline */
	const struct gpu_pipeline *p1, *p2;
	uint32_t spec[] = {64};
	REQUIRE_OK(gpu_pipeline_get(&g, &p1, SH_COPY_F32, spec, 1));
	REQUIRE_OK(gpu_pipeline_get(&g, &p2, SH_COPY_F32, spec, 1));
	EXPECT(p1 == p2 && g.n_pipelines == 1, "pipelines are not reused (%u made)", g.n_pipelines);
	test_gpu_close(&g);
	struct stat sb;
	EXPECT(stat(path, &sb) == 0 && sb.st_size >= 32, "no cache file at %s", path);

	/* the next run starts from it */
	REQUIRE_OK(test_gpu_open(&g));
	REQUIRE_OK(make_pipeline(&g));
	test_gpu_close(&g);

	/* a damaged file: same size, garbage header; the device still works */
	FILE *f = fopen(path, "r+b");
	REQUIRE(f != NULL, "cannot open %s", path);
	fwrite("garbage garbage garbage garbage garbage", 1, 40, f);
	fclose(f);
	REQUIRE_OK(test_gpu_open(&g));
	REQUIRE_OK(make_pipeline(&g));
	test_gpu_close(&g);
	/* and it has been rewritten with a valid header */
	f = fopen(path, "rb");
	unsigned char head[8] = {0};
	EXPECT(f && fread(head, 1, 8, f) == 8 && memcmp(head, "garbage ", 8) != 0, "damaged cache was not replaced");
	if (f) fclose(f);
	remove(path);
	return test_finish();
}
