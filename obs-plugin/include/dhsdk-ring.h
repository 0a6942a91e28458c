/*
 * dhsdk-ring.h: the shared-memory frame ring between dhsdk (writer, Python: dhsdk/sinks/obs.py)
 * and its readers (the OBS source plugin, tools/ring_reader.c). Header-only, C11, POSIX.
 *
 * One POSIX shared-memory object, "/dhsdk-obs-<name>" (shm_open; /dev/shm on Linux), holds a
 * header followed by `slot_count` slots. All integers are little-endian, naturally aligned.
 *
 *   offset  size  header field
 *   0       8     magic            DHSDK_RING_MAGIC ("DHSDKRNG")
 *   8       4     version          DHSDK_RING_VERSION; a reader refuses any other
 *   12      4     header_size      bytes before slot 0 (DHSDK_RING_HEADER_SIZE)
 *   16      4     slot_count       slots in the ring (>= 2)
 *   20      4     slot_size        bytes per slot, a multiple of 64
 *   24      4     max_width        pixel capacity of a slot (BGRA, stride = max_width * 4)
 *   28      4     max_height
 *   32      4     max_samples      float32 audio capacity of a slot (mono samples)
 *   36      4     writer_pid       the writer's process id
 *   40      4     state            DHSDK_RING_OPEN, or DHSDK_RING_CLOSED once the writer is done
 *   44      4     reserved0
 *   48      8     write_count      frames published so far; frame n lives in slot n % slot_count
 *   56      72    reserved
 *
 *   slot k starts at header_size + k * slot_size:
 *   0       8     seq              seqlock: 2n+1 while frame n is written, 2n+2 once complete
 *   8       8     index            the frame's index in its stream
 *   16      8     pts_ns           presentation time, ns on the stream's clock (int64)
 *   24      4     width            pixels of this frame (<= max_width)
 *   28      4     height
 *   32      4     stride           bytes per row (max_width * 4)
 *   36      4     samples          audio samples in this slot (<= max_samples)
 *   40      4     sample_rate      Hz of the audio
 *   44      4     flags            DHSDK_FRAME_SPEAKING
 *   48      16    reserved
 *   64      stride * max_height    BGRA pixels, rows top to bottom
 *   then    4 * max_samples        float32 mono PCM in [-1, 1]
 *
 * Protocol. The writer never waits for readers: for frame n it stores seq = 2n+1, the payload,
 * seq = 2n+2, then write_count = n+1, each store ordered after the previous (the Python writer
 * relies on x86-64 store ordering; a writer elsewhere needs release stores). A reader wanting
 * frame n loads seq (acquire); anything but 2n+2 means "not written yet" (smaller) or "already
 * overwritten" (larger); it copies the payload, then loads seq again: if it changed, the copy
 * is torn and is dropped. So a reader never returns a torn frame, and a slow or absent reader
 * costs the writer nothing. When the writer closes it sets state = CLOSED and unlinks the
 * object; a reader then unmaps and waits for a new writer under the same name.
 */
#ifndef DHSDK_RING_H
#define DHSDK_RING_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DHSDK_RING_MAGIC 0x474e524b44534844ULL /* "DHSDKRNG" little-endian */
#define DHSDK_RING_VERSION 1u
#define DHSDK_RING_HEADER_SIZE 128u
#define DHSDK_RING_SLOT_HEADER 64u
#define DHSDK_RING_OPEN 1u
#define DHSDK_RING_CLOSED 2u
#define DHSDK_FRAME_SPEAKING 1u

struct dhsdk_ring_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;
	uint32_t slot_count;
	uint32_t slot_size;
	uint32_t max_width;
	uint32_t max_height;
	uint32_t max_samples;
	uint32_t writer_pid;
	uint32_t state;
	uint32_t reserved0;
	uint64_t write_count;
	uint8_t reserved[72];
};

struct dhsdk_ring_slot {
	uint64_t seq;
	uint64_t index;
	int64_t pts_ns;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t samples;
	uint32_t sample_rate;
	uint32_t flags;
	uint8_t reserved[16];
};

_Static_assert(sizeof(struct dhsdk_ring_header) == DHSDK_RING_HEADER_SIZE, "header layout");
_Static_assert(sizeof(struct dhsdk_ring_slot) == DHSDK_RING_SLOT_HEADER, "slot layout");

/* A reader's mapping of one ring. */
struct dhsdk_ring {
	uint8_t *base;
	size_t size;
	ino_t inode;
	const struct dhsdk_ring_header *header;
};

/* One frame copied out of the ring (buffers owned by the caller, sized from the header). */
struct dhsdk_ring_frame {
	uint64_t number; /* ring frame number n */
	uint64_t index;
	int64_t pts_ns;
	uint32_t width, height, stride, samples, sample_rate, flags;
	uint8_t *bgra;   /* stride * max_height bytes */
	float *audio;    /* max_samples floats */
};

enum dhsdk_ring_status {
	DHSDK_RING_FRAME = 0,   /* the frame was copied */
	DHSDK_RING_NOT_YET = 1, /* frame n is not published yet */
	DHSDK_RING_LOST = 2,    /* frame n was overwritten before (or while) it was read */
};

static inline void dhsdk_ring_shm_name(char *out, size_t size, const char *name)
{
	snprintf(out, size, "/dhsdk-obs-%s", name);
}

/* Map the ring called `name`. Returns 0, or -1 with `err` (size `errsize`) saying why. */
static inline int dhsdk_ring_open(struct dhsdk_ring *ring, const char *name, char *err, size_t errsize)
{
	char path[256];
	struct stat st;
	memset(ring, 0, sizeof(*ring));
	dhsdk_ring_shm_name(path, sizeof(path), name);
	int fd = shm_open(path, O_RDONLY, 0);
	if (fd < 0) {
		snprintf(err, errsize, "no writer: shm_open(%s): %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < DHSDK_RING_HEADER_SIZE) {
		snprintf(err, errsize, "%s is not a dhsdk ring (too small)", path);
		close(fd);
		return -1;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		snprintf(err, errsize, "mmap(%s): %s", path, strerror(errno));
		return -1;
	}
	const struct dhsdk_ring_header *h = base;
	const char *why = NULL;
	if (h->magic != DHSDK_RING_MAGIC)
		why = "bad magic (not a dhsdk ring)";
	else if (h->version != DHSDK_RING_VERSION)
		why = "unsupported version (update the plugin or dhsdk to match)";
	else if (h->header_size != DHSDK_RING_HEADER_SIZE || h->slot_count < 2 ||
		 h->slot_size < DHSDK_RING_SLOT_HEADER + 4ull * h->max_width * h->max_height + 4ull * h->max_samples ||
		 (size_t)h->header_size + (size_t)h->slot_count * h->slot_size > (size_t)st.st_size)
		why = "inconsistent sizes";
	if (why) {
		snprintf(err, errsize, "%s: %s", path, why);
		munmap(base, (size_t)st.st_size);
		return -1;
	}
	ring->base = base;
	ring->size = (size_t)st.st_size;
	ring->inode = st.st_ino;
	ring->header = h;
	return 0;
}

static inline void dhsdk_ring_close(struct dhsdk_ring *ring)
{
	if (ring->base)
		munmap(ring->base, ring->size);
	memset(ring, 0, sizeof(*ring));
}

/* Frames published so far (acquire: their payloads are visible). */
static inline uint64_t dhsdk_ring_count(const struct dhsdk_ring *ring)
{
	return atomic_load_explicit((_Atomic uint64_t *)&ring->header->write_count, memory_order_acquire);
}

/* True when the writer has closed, died, or been replaced by a new one under the same name. */
static inline int dhsdk_ring_stale(const struct dhsdk_ring *ring, const char *name)
{
	const struct dhsdk_ring_header *h = ring->header;
	if (atomic_load_explicit((_Atomic uint32_t *)&h->state, memory_order_acquire) == DHSDK_RING_CLOSED)
		return 1;
	if (kill((pid_t)h->writer_pid, 0) != 0 && errno == ESRCH)
		return 1;
	char path[256];
	struct stat st;
	dhsdk_ring_shm_name(path, sizeof(path), name);
	int fd = shm_open(path, O_RDONLY, 0);
	if (fd < 0)
		return 1;
	int replaced = fstat(fd, &st) != 0 || st.st_ino != ring->inode;
	close(fd);
	return replaced;
}

static inline const uint8_t *dhsdk_ring_slot_at(const struct dhsdk_ring *ring, uint64_t n)
{
	const struct dhsdk_ring_header *h = ring->header;
	return ring->base + h->header_size + (size_t)(n % h->slot_count) * h->slot_size;
}

static inline uint64_t dhsdk_ring_seq(const struct dhsdk_ring *ring, uint64_t n)
{
	const struct dhsdk_ring_slot *s = (const struct dhsdk_ring_slot *)dhsdk_ring_slot_at(ring, n);
	return atomic_load_explicit((_Atomic uint64_t *)&s->seq, memory_order_acquire);
}

/*
 * A read of frame n in its three steps (dhsdk_ring_read does all three; a test tool may pause
 * between them to provoke a writer overtaking it):
 *   begin: check the slot holds complete frame n and copy its metadata;
 *   payload: copy its pixels and audio;
 *   end: check the slot still holds frame n, i.e. nothing was overwritten while copying.
 */
static inline enum dhsdk_ring_status dhsdk_ring_begin(const struct dhsdk_ring *ring, uint64_t n,
						      struct dhsdk_ring_frame *out)
{
	const struct dhsdk_ring_header *h = ring->header;
	uint64_t seq = dhsdk_ring_seq(ring, n);
	if (seq < 2 * n + 2) /* an older frame, or frame n half written */
		return DHSDK_RING_NOT_YET;
	if (seq != 2 * n + 2)
		return DHSDK_RING_LOST;
	const struct dhsdk_ring_slot *s = (const struct dhsdk_ring_slot *)dhsdk_ring_slot_at(ring, n);
	out->number = n;
	out->index = s->index;
	out->pts_ns = s->pts_ns;
	out->width = s->width < h->max_width ? s->width : h->max_width;
	out->height = s->height < h->max_height ? s->height : h->max_height;
	out->stride = h->max_width * 4;
	out->samples = s->samples < h->max_samples ? s->samples : h->max_samples;
	out->sample_rate = s->sample_rate;
	out->flags = s->flags;
	return DHSDK_RING_FRAME;
}

static inline void dhsdk_ring_payload(const struct dhsdk_ring *ring, struct dhsdk_ring_frame *out)
{
	const uint8_t *pixels = dhsdk_ring_slot_at(ring, out->number) + DHSDK_RING_SLOT_HEADER;
	memcpy(out->bgra, pixels, (size_t)out->stride * out->height);
	memcpy(out->audio, pixels + (size_t)out->stride * ring->header->max_height, (size_t)out->samples * sizeof(float));
}

static inline enum dhsdk_ring_status dhsdk_ring_end(const struct dhsdk_ring *ring, const struct dhsdk_ring_frame *out)
{
	atomic_thread_fence(memory_order_acquire); /* the copies above happen before the re-check */
	return dhsdk_ring_seq(ring, out->number) == 2 * out->number + 2 ? DHSDK_RING_FRAME : DHSDK_RING_LOST;
}

/* Copy frame `n` into `out` (whose buffers hold a full slot); never returns a torn frame. */
static inline enum dhsdk_ring_status dhsdk_ring_read(const struct dhsdk_ring *ring, uint64_t n,
						     struct dhsdk_ring_frame *out)
{
	enum dhsdk_ring_status st = dhsdk_ring_begin(ring, n, out);
	if (st != DHSDK_RING_FRAME)
		return st;
	dhsdk_ring_payload(ring, out);
	return dhsdk_ring_end(ring, out);
}

#endif /* DHSDK_RING_H */
