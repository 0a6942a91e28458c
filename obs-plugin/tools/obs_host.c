/*
 * obs_host: a minimal libobs host (no OBS GUI, no Qt) that loads the dhsdk plugin, creates its
 * source on output channel 0 and reports what OBS itself renders and mixes, for end-to-end
 * tests under Xvfb (libobs needs an X display; see FACTS.md).
 *
 *   obs_host PLUGIN.so RING_NAME SECONDS [WIDTH HEIGHT]
 *
 * Prints "ready" once the source exists, then at the end:
 *   video frames=N center=B,G,R,A     (frames from OBS's raw output, centre pixel of the last)
 *   runs B,G,R,A*COUNT ...            (the centre pixel's colour runs over time, in order)
 *   audio frames=N peak=P             (samples the source delivered to OBS's mixer, peak level)
 * Exits 0, or 1 with a message when libobs or the plugin cannot be started.
 */
#include <obs.h>
#include <obs-nix-platform.h>
#include <util/base.h>
#include <util/platform.h>
#include <X11/Xlib.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_RUNS 64

static long video_frames, audio_frames;
static uint8_t center[4];
static uint8_t run_color[MAX_RUNS][4];
static long run_length[MAX_RUNS];
static int runs;
static float peak;
static uint32_t width = 320, height = 240;

static void on_video(void *param, struct video_data *frame)
{
	(void)param;
	const uint8_t *p = frame->data[0] + (size_t)(height / 2) * frame->linesize[0] + (size_t)(width / 2) * 4;
	memcpy(center, p, 4);
	if (runs == 0 || memcmp(run_color[runs - 1], p, 4) != 0) {
		if (runs == MAX_RUNS)
			return;
		memcpy(run_color[runs++], p, 4);
	}
	run_length[runs - 1]++;
	__atomic_add_fetch(&video_frames, 1, __ATOMIC_RELAXED);
}

static void on_audio(void *param, obs_source_t *source, const struct audio_data *audio, bool muted)
{
	(void)param, (void)source, (void)muted;
	const float *left = (const float *)audio->data[0];
	for (uint32_t i = 0; i < audio->frames; i++)
		if (fabsf(left[i]) > peak)
			peak = fabsf(left[i]);
	__atomic_add_fetch(&audio_frames, audio->frames, __ATOMIC_RELAXED);
}

/* libobs logs to stderr, so stdout carries only the report. */
static void log_to_stderr(int level, const char *format, va_list args, void *param)
{
	(void)level, (void)param;
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

static int fail(const char *what)
{
	fprintf(stderr, "obs_host: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return fail("usage: obs_host PLUGIN.so RING_NAME SECONDS [WIDTH HEIGHT]");
	if (argc >= 6) {
		width = (uint32_t)atoi(argv[4]);
		height = (uint32_t)atoi(argv[5]);
	}
	base_set_log_handler(log_to_stderr, NULL);
	Display *display = XOpenDisplay(NULL);
	if (!display)
		return fail("cannot open the X display (run under Xvfb: DISPLAY=:N)");
	obs_set_nix_platform(OBS_NIX_PLATFORM_X11_EGL);
	obs_set_nix_platform_display(display);
	if (!obs_startup("en-US", NULL, NULL))
		return fail("obs_startup failed");
	struct obs_audio_info ai = {.samples_per_sec = 48000, .speakers = SPEAKERS_STEREO};
	if (!obs_reset_audio(&ai))
		return fail("obs_reset_audio failed");
	struct obs_video_info vi = {
		.graphics_module = "libobs-opengl",
		.fps_num = 30,
		.fps_den = 1,
		.base_width = width,
		.base_height = height,
		.output_width = width,
		.output_height = height,
		.output_format = VIDEO_FORMAT_BGRA,
		.adapter = 0,
		.gpu_conversion = false,
		.colorspace = VIDEO_CS_709,
		.range = VIDEO_RANGE_FULL,
		.scale_type = OBS_SCALE_BILINEAR,
	};
	if (obs_reset_video(&vi) != OBS_VIDEO_SUCCESS)
		return fail("obs_reset_video failed (libobs-opengl under Xvfb?)");
	obs_module_t *module = NULL;
	if (obs_open_module(&module, argv[1], NULL) != MODULE_SUCCESS || !obs_init_module(module))
		return fail("cannot load the plugin module");
	obs_data_t *settings = obs_data_create();
	obs_data_set_string(settings, "ring_name", argv[2]);
	obs_source_t *source = obs_source_create("dhsdk_source", "presenter", settings, NULL);
	obs_data_release(settings);
	if (!source)
		return fail("the plugin did not register dhsdk_source");
	obs_source_add_audio_capture_callback(source, on_audio, NULL);
	obs_set_output_source(0, source);
	obs_add_raw_video_callback(NULL, on_video, NULL);
	printf("ready\n");
	fflush(stdout);

	os_sleep_ms((uint32_t)(atof(argv[3]) * 1000));

	obs_remove_raw_video_callback(on_video, NULL);
	obs_set_output_source(0, NULL);
	obs_source_remove_audio_capture_callback(source, on_audio, NULL);
	printf("video frames=%ld center=%u,%u,%u,%u\n", __atomic_load_n(&video_frames, __ATOMIC_RELAXED), center[0],
	       center[1], center[2], center[3]);
	printf("runs");
	for (int i = 0; i < runs; i++)
		printf(" %u,%u,%u,%u*%ld", run_color[i][0], run_color[i][1], run_color[i][2], run_color[i][3], run_length[i]);
	printf("\n");
	printf("audio frames=%ld peak=%.3f\n", __atomic_load_n(&audio_frames, __ATOMIC_RELAXED), peak);
	fflush(stdout);
	obs_source_release(source);
	obs_shutdown();
	XCloseDisplay(display);
	return 0;
}
