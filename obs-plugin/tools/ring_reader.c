/*
 * ring_reader: a standalone reader of the dhsdk frame ring (include/dhsdk-ring.h), the same
 * protocol code the OBS plugin uses, for tests and debugging without OBS.
 *
 *   ring_reader NAME [--frames N] [--timeout S] [--slow-ms MS] [--hold-us US]
 *
 * Prints one line per frame read, then a summary line, and exits 0 (1 on bad arguments or
 * when no ring appeared within the timeout):
 *   frame n=3 index=3 pts_ns=120000000 size=64x48 samples=640 rate=16000 flags=0 crc=1a2b3c4d acrc=...
 *   done frames=50 lost=0 reason=count|timeout|closed
 * crc is the CRC-32 (zlib's) of the BGRA rows (width * 4 bytes each), acrc of the float32 audio.
 * --slow-ms sleeps after each frame (a reader that cannot keep up: it reports lost frames and
 * never a torn one). --hold-us pauses between a frame's metadata and its payload, so a fast
 * writer overwrites slots mid-read: the seqlock must turn each of those into a lost frame.
 */
#define _POSIX_C_SOURCE 200809L
#include "dhsdk-ring.h"

#include <stdlib.h>
#include <time.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)((ms - 1000 * (time_t)(ms / 1000)) * 1e6)};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s NAME [--frames N] [--timeout S] [--slow-ms MS] [--hold-us US]\n", argv[0]);
		return 1;
	}
	const char *name = argv[1];
	long want = -1;
	double timeout = 10.0, slow_ms = 0.0, hold_us = 0.0;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--frames"))
			want = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--slow-ms"))
			slow_ms = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--hold-us"))
			hold_us = atof(argv[i + 1]);
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	crc_init();
	double deadline = now_s() + timeout;
	struct dhsdk_ring ring;
	char err[512] = "";
	while (dhsdk_ring_open(&ring, name, err, sizeof(err)) != 0) {
		if (now_s() > deadline) {
			fprintf(stderr, "ring_reader: %s\n", err);
			return 1;
		}
		sleep_ms(5);
	}
	const struct dhsdk_ring_header *h = ring.header;
	printf("ring slots=%u max=%ux%u max_samples=%u pid=%u\n", h->slot_count, h->max_width, h->max_height,
	       h->max_samples, h->writer_pid);
	struct dhsdk_ring_frame f;
	f.bgra = malloc((size_t)h->max_width * 4 * h->max_height);
	f.audio = malloc((size_t)h->max_samples * sizeof(float));
	uint64_t count = dhsdk_ring_count(&ring);
	uint64_t next = count > h->slot_count - 1 ? count - (h->slot_count - 1) : 0; /* the oldest still held */
	long frames = 0, lost = 0;
	const char *reason = "timeout";
	while (now_s() < deadline) {
		count = dhsdk_ring_count(&ring);
		if (count > next + h->slot_count) { /* overwritten before we got to them */
			lost += (long)(count - h->slot_count - next);
			next = count - h->slot_count;
		}
		int progressed = 0;
		while (next < count) {
			enum dhsdk_ring_status st = dhsdk_ring_begin(&ring, next, &f);
			if (st == DHSDK_RING_NOT_YET)
				break;
			if (st == DHSDK_RING_FRAME) {
				if (hold_us > 0)
					sleep_ms(hold_us / 1000);
				dhsdk_ring_payload(&ring, &f);
				st = dhsdk_ring_end(&ring, &f);
			}
			next++;
			progressed = 1;
			if (st == DHSDK_RING_LOST) {
				lost++;
				continue;
			}
			uint32_t crc = 0;
			for (uint32_t y = 0; y < f.height; y++)
				crc = crc32_update(crc, f.bgra + (size_t)y * f.stride, (size_t)f.width * 4);
			uint32_t acrc = crc32_update(0, (const uint8_t *)f.audio, (size_t)f.samples * sizeof(float));
			printf("frame n=%llu index=%llu pts_ns=%lld size=%ux%u samples=%u rate=%u flags=%u crc=%08x acrc=%08x\n",
			       (unsigned long long)f.number, (unsigned long long)f.index, (long long)f.pts_ns, f.width,
			       f.height, f.samples, f.sample_rate, f.flags, crc, acrc);
			frames++;
			if (slow_ms > 0)
				sleep_ms(slow_ms);
			if (want >= 0 && frames >= want)
				break;
		}
		if (want >= 0 && frames >= want) {
			reason = "count";
			break;
		}
		if (!progressed && dhsdk_ring_count(&ring) == next && dhsdk_ring_stale(&ring, name)) {
			reason = "closed";
			break;
		}
		if (!progressed)
			sleep_ms(1);
	}
	printf("done frames=%ld lost=%ld reason=%s\n", frames, lost, reason);
	free(f.bgra);
	free(f.audio);
	dhsdk_ring_close(&ring);
	return 0;
}
