/*
 * The "dhsdk Digital Human" OBS source: an async video + audio input fed by the dhsdk frame
 * ring (include/dhsdk-ring.h). A reader thread polls the ring every 2 ms, copies each new
 * frame out under the seqlock and hands it to OBS with obs_source_output_video (BGRA) and
 * obs_source_output_audio (float mono), both stamped with the same timestamp: the frame's pts
 * on the stream clock, offset onto OBS's clock at the first frame. When the writer closes or
 * dies the source goes blank and waits for a new writer under the same name.
 */
#include <obs-module.h>
#include <util/bmem.h>
#include <util/platform.h>
#include <util/threading.h>

#include "dhsdk-ring.h"

#define SETTING_NAME "ring_name"
#define POLL_MS 2
#define REOPEN_MS 200
#define IDLE_CHECK_NS 1000000000ULL /* no frame for 1 s: check whether the writer is gone */

struct dhsdk_source {
	obs_source_t *source;
	char *name;
	pthread_t thread;
	bool thread_active;
	volatile bool stop;
	uint64_t base_ns; /* OBS time of pts 0 */
	int64_t last_pts;
};

static void output_frame(struct dhsdk_source *s, const struct dhsdk_ring_frame *f)
{
	uint64_t now = os_gettime_ns();
	/* A new writer, or a jump on the stream clock: re-anchor pts onto OBS's clock. */
	if (!s->base_ns || f->pts_ns < s->last_pts || f->pts_ns - s->last_pts > 1000000000LL)
		s->base_ns = now - (uint64_t)f->pts_ns;
	s->last_pts = f->pts_ns;
	uint64_t ts = s->base_ns + (uint64_t)f->pts_ns;

	struct obs_source_frame video = {0};
	video.data[0] = f->bgra;
	video.linesize[0] = f->stride;
	video.width = f->width;
	video.height = f->height;
	video.format = VIDEO_FORMAT_BGRA;
	video.timestamp = ts;
	obs_source_output_video(s->source, &video);

	if (f->samples) {
		struct obs_source_audio audio = {0};
		audio.data[0] = (const uint8_t *)f->audio;
		audio.frames = f->samples;
		audio.speakers = SPEAKERS_MONO;
		audio.format = AUDIO_FORMAT_FLOAT;
		audio.samples_per_sec = f->sample_rate;
		audio.timestamp = ts;
		obs_source_output_audio(s->source, &audio);
	}
}

static void *reader_thread(void *data)
{
	struct dhsdk_source *s = data;
	struct dhsdk_ring ring = {0};
	struct dhsdk_ring_frame f = {0};
	char err[512];
	uint64_t next = 0, last_frame_ns = 0;
	bool warned = false;

	os_set_thread_name("dhsdk-ring-reader");
	while (!os_atomic_load_bool(&s->stop)) {
		if (!ring.base) {
			if (dhsdk_ring_open(&ring, s->name, err, sizeof(err)) != 0) {
				if (!warned)
					blog(LOG_INFO, "[dhsdk] waiting for a writer: %s", err);
				warned = true;
				os_sleep_ms(REOPEN_MS);
				continue;
			}
			const struct dhsdk_ring_header *h = ring.header;
			f.bgra = brealloc(f.bgra, (size_t)h->max_width * 4 * h->max_height);
			f.audio = brealloc(f.audio, (size_t)h->max_samples * sizeof(float));
			uint64_t count = dhsdk_ring_count(&ring);
			next = count ? count - 1 : 0; /* start at the newest frame */
			s->base_ns = 0;
			last_frame_ns = os_gettime_ns();
			warned = false;
			blog(LOG_INFO, "[dhsdk] reading ring '%s': %ux%u, %u slots, writer pid %u", s->name, h->max_width,
			     h->max_height, h->slot_count, h->writer_pid);
		}
		uint64_t count = dhsdk_ring_count(&ring);
		uint32_t slots = ring.header->slot_count;
		if (count > next + slots)
			next = count - slots; /* we fell behind: skip to the oldest frame still held */
		bool progressed = false;
		while (next < count) {
			enum dhsdk_ring_status st = dhsdk_ring_read(&ring, next, &f);
			if (st == DHSDK_RING_NOT_YET)
				break;
			next++;
			progressed = true;
			if (st == DHSDK_RING_FRAME)
				output_frame(s, &f);
		}
		uint64_t now = os_gettime_ns();
		if (progressed) {
			last_frame_ns = now;
			continue;
		}
		if (now - last_frame_ns > IDLE_CHECK_NS && dhsdk_ring_stale(&ring, s->name)) {
			blog(LOG_INFO, "[dhsdk] writer of ring '%s' is gone", s->name);
			dhsdk_ring_close(&ring);
			obs_source_output_video(s->source, NULL); /* blank until a new writer appears */
		}
		os_sleep_ms(POLL_MS);
	}
	dhsdk_ring_close(&ring);
	bfree(f.bgra);
	bfree(f.audio);
	return NULL;
}

static void stop_reader(struct dhsdk_source *s)
{
	if (!s->thread_active)
		return;
	os_atomic_set_bool(&s->stop, true);
	pthread_join(s->thread, NULL);
	s->thread_active = false;
}

static void start_reader(struct dhsdk_source *s)
{
	os_atomic_set_bool(&s->stop, false);
	s->thread_active = pthread_create(&s->thread, NULL, reader_thread, s) == 0;
	if (!s->thread_active)
		blog(LOG_ERROR, "[dhsdk] could not start the ring reader thread");
}

static const char *dhsdk_get_name(void *unused)
{
	UNUSED_PARAMETER(unused);
	return "dhsdk Digital Human";
}

static void dhsdk_update(void *data, obs_data_t *settings)
{
	struct dhsdk_source *s = data;
	stop_reader(s);
	bfree(s->name);
	s->name = bstrdup(obs_data_get_string(settings, SETTING_NAME));
	start_reader(s);
}

static void *dhsdk_create(obs_data_t *settings, obs_source_t *source)
{
	struct dhsdk_source *s = bzalloc(sizeof(*s));
	s->source = source;
	dhsdk_update(s, settings);
	return s;
}

static void dhsdk_destroy(void *data)
{
	struct dhsdk_source *s = data;
	stop_reader(s);
	bfree(s->name);
	bfree(s);
}

static void dhsdk_defaults(obs_data_t *settings)
{
	obs_data_set_default_string(settings, SETTING_NAME, "dhsdk");
}

static obs_properties_t *dhsdk_properties(void *unused)
{
	UNUSED_PARAMETER(unused);
	obs_properties_t *props = obs_properties_create();
	obs_property_t *p = obs_properties_add_text(props, SETTING_NAME, "Shared memory name", OBS_TEXT_DEFAULT);
	obs_property_set_long_description(p, "The name given to dhsdk's ObsSink (dhsdk live --sink obs:NAME); "
					     "default 'dhsdk'");
	return props;
}

struct obs_source_info dhsdk_source_info = {
	.id = "dhsdk_source",
	.type = OBS_SOURCE_TYPE_INPUT,
	.output_flags = OBS_SOURCE_ASYNC_VIDEO | OBS_SOURCE_AUDIO | OBS_SOURCE_DO_NOT_DUPLICATE,
	.get_name = dhsdk_get_name,
	.create = dhsdk_create,
	.destroy = dhsdk_destroy,
	.update = dhsdk_update,
	.get_defaults = dhsdk_defaults,
	.get_properties = dhsdk_properties,
	.icon_type = OBS_ICON_TYPE_CAMERA,
};
