// dedup-oracle runs libbpf's btf__dedup on a raw BTF file and writes the
// result as raw BTF. It is the reference the Go package filter/internal/dedup is
// compared with (scripts/dedup-oracle/build.sh builds it).
//
// Usage: dedup-oracle [-b BASE] [-p] IN [OUT]
//
// IN is raw BTF; with -b it is split BTF on the raw base BASE. OUT, when
// given, receives the deduplicated raw BTF (for split input, the split part
// only); without it the process only parses and dedups, so that its peak
// memory is that of those two steps. -p parses only (no dedup), which gives
// the memory baseline the dedup's own growth is measured against. One line
// goes to standard output: "dedup_ns N types_in N types_out N libbpf X.Y",
// where dedup_ns is the time spent inside btf__dedup alone (parsing and I/O
// excluded), measured with CLOCK_MONOTONIC.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

static void die(const char *what, const char *path, long err)
{
	fprintf(stderr, "dedup-oracle: %s %s: %s\n", what, path, strerror((int)(err < 0 ? -err : err)));
	exit(1);
}

int main(int argc, char **argv)
{
	const char *base_path = NULL;
	struct btf *base = NULL, *btf;
	struct timespec t0 = {0}, t1 = {0};
	const void *raw;
	__u32 size;
	int opt, err = 0, n_in, parse_only = 0;
	FILE *f;

	while ((opt = getopt(argc, argv, "b:p")) != -1) {
		switch (opt) {
		case 'b':
			base_path = optarg;
			break;
		case 'p':
			parse_only = 1;
			break;
		default:
			fprintf(stderr, "usage: dedup-oracle [-b BASE] [-p] IN [OUT]\n");
			return 2;
		}
	}
	if (argc - optind != 1 && argc - optind != 2) {
		fprintf(stderr, "usage: dedup-oracle [-b BASE] [-p] IN [OUT]\n");
		return 2;
	}
	if (base_path) {
		base = btf__parse_raw(base_path);
		if (!base)
			die("parsing", base_path, errno);
		btf = btf__parse_raw_split(argv[optind], base);
	} else {
		btf = btf__parse_raw(argv[optind]);
	}
	if (!btf)
		die("parsing", argv[optind], errno);
	n_in = (int)btf__type_cnt(btf);

	if (!parse_only) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = btf__dedup(btf, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	}
	if (err)
		die("btf__dedup of", argv[optind], err);
	if (argc - optind == 1)
		goto done;

	raw = btf__raw_data(btf, &size);
	if (!raw)
		die("btf__raw_data of", argv[optind], errno);
	f = fopen(argv[optind + 1], "wb");
	if (!f)
		die("creating", argv[optind + 1], errno);
	if (fwrite(raw, 1, size, f) != size || fclose(f) != 0)
		die("writing", argv[optind + 1], errno);

done:
	printf("dedup_ns %lld types_in %d types_out %u libbpf %d.%d\n",
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
	       n_in, btf__type_cnt(btf), LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION);
	btf__free(btf);
	btf__free(base);
	return 0;
}
