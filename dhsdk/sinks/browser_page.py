"""The HTML page :class:`~dhsdk.sinks.browser.BrowserSink` serves (an OBS Browser Source, or any browser).

It opens ``ws://<host>/ws`` and receives one binary message per frame (little-endian):

=======  ======  ====================================================
offset   type    field
=======  ======  ====================================================
0        u8      version (1)
1        u8      flags (bit 0: speaking)
2        u16     reserved
4        u32     frame index
8        f64     pts, seconds
16       u32     audio sample rate, Hz
20       u32     n, audio samples
24       i16[n]  mono PCM
24+2n    bytes   JPEG image, to the end of the message
=======  ======  ====================================================

With sound (an OBS Browser Source, or after a click: browsers start audio only on a user
gesture) each frame's PCM is scheduled on the Web Audio clock with a small lead and its image
drawn when that audio plays, so lips match sound; muted, images are drawn as they arrive. The
page reconnects on its own and keeps its counters in ``window.dhsdk`` (frames drawn, last
index, audio chunks, audio state) for monitoring and tests.
"""
from __future__ import annotations

PROTOCOL_VERSION = 1
HEADER_BYTES = 24

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dhsdk presenter</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
html, body { margin: 0; height: 100%; background: transparent; overflow: hidden; }
canvas { width: 100%; height: 100%; object-fit: contain; display: block; }
#sound { position: fixed; left: 8px; bottom: 8px; padding: 6px 10px; border-radius: 4px; cursor: pointer;
         font: 14px sans-serif; color: #fff; background: rgba(0, 0, 0, 0.6); display: none; }
</style></head>
<body><canvas id="view" width="16" height="16"></canvas><div id="sound">click for sound</div>
<script>
"use strict";
const VERSION = 1, HEADER = 24, LEAD_S = 0.12;
const canvas = document.getElementById("view"), g = canvas.getContext("2d");
const sound = document.getElementById("sound");
const state = window.dhsdk = {connected: false, frames: 0, index: -1, audioChunks: 0, audio: "off"};
let audio = null, nextAudio = 0, chain = Promise.resolve();

function audioState() {
  state.audio = audio ? audio.state : "off";
  sound.style.display = audio && audio.state === "running" ? "none" : "block";
}
function startAudio() {
  if (!audio) {
    try { audio = new AudioContext(); } catch (e) { state.audio = "unavailable"; return; }
    audio.onstatechange = audioState;
  }
  audioState();
  audio.resume().catch(() => {}).finally(audioState);  // pending until a gesture where autoplay is blocked
}
document.addEventListener("click", startAudio);
startAudio();  // runs at once where autoplay is allowed (OBS); otherwise waits for a click

// Schedule one frame's PCM; returns when it plays on the audio clock, or null when muted.
function play(pcm, rate) {
  if (!audio || audio.state !== "running" || pcm.length === 0) return null;
  const buffer = audio.createBuffer(1, pcm.length, rate), out = buffer.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  const node = audio.createBufferSource();
  node.buffer = buffer;
  node.connect(audio.destination);
  if (nextAudio < audio.currentTime + 0.01) nextAudio = audio.currentTime + LEAD_S;  // (re)start with a lead
  const at = nextAudio;
  node.start(at);
  nextAudio += buffer.duration;
  state.audioChunks++;
  return at;
}

async function show(data) {
  const v = new DataView(data);
  if (v.getUint8(0) !== VERSION) { console.warn("dhsdk: unknown message version", v.getUint8(0)); return; }
  const index = v.getUint32(4, true), rate = v.getUint32(16, true), n = v.getUint32(20, true);
  const at = play(new Int16Array(data, HEADER, n), rate);
  const image = await createImageBitmap(new Blob([new Uint8Array(data, HEADER + 2 * n)], {type: "image/jpeg"}));
  const draw = () => {
    if (canvas.width !== image.width || canvas.height !== image.height) {
      canvas.width = image.width;
      canvas.height = image.height;
    }
    g.drawImage(image, 0, 0);
    image.close();
    state.frames++;
    state.index = index;
  };
  if (at === null) draw(); else setTimeout(draw, Math.max(0, (at - audio.currentTime) * 1000));
}

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { state.connected = true; };
  ws.onmessage = (e) => { chain = chain.then(() => show(e.data)).catch((err) => console.warn("dhsdk:", err)); };
  ws.onclose = () => { state.connected = false; setTimeout(connect, 1000); };
}
connect();
</script></body></html>
"""
