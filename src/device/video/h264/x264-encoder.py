#!/usr/bin/python3
"""The device's one H.264 encoder for raw sources (the test pattern): raw I420 frames on stdin,
one record per encoded picture on stdout: a 4-byte big-endian length, then the picture as Annex B
(an access unit delimiter first, SPS/PPS before every IDR). Framed, so the device hands a picture
on the moment it is encoded instead of when the next one begins. libx264 through GStreamer's x264enc, because a running x264enc takes a keyframe
request (GStreamer's force-key-unit event): SIGUSR1 asks for one. ffmpeg's CLI cannot be asked
for a keyframe while it runs.

usage: x264-encoder.py WIDTH HEIGHT FPS KBPS
"""
import signal
import struct
import sys

# Until GLib's handler is installed below, a keyframe request must not kill the encoder.
signal.signal(signal.SIGUSR1, signal.SIG_IGN)

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo  # noqa: E402


def main() -> int:
    width, height, fps, kbps = (int(a) for a in sys.argv[1:5])
    Gst.init(None)
    pipeline = Gst.parse_launch(
        f"fdsrc fd=0 blocksize={width * height * 3 // 2} do-timestamp=false "
        f"! rawvideoparse width={width} height={height} format=i420 framerate={fps}/1 "
        f"! x264enc name=enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} "
        f"key-int-max={fps * 2} aud=true byte-stream=true "
        "! video/x-h264,profile=constrained-baseline,stream-format=byte-stream "
        "! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au "
        "! appsink name=sink emit-signals=true sync=false max-buffers=30"
    )
    out = sys.stdout.buffer

    def on_sample(sink) -> Gst.FlowReturn:
        buffer = sink.emit("pull-sample").get_buffer()
        ok, info = buffer.map(Gst.MapFlags.READ)
        if not ok:
            return Gst.FlowReturn.ERROR
        try:
            out.write(struct.pack(">I", info.size) + bytes(info.data))
            out.flush()
        except BrokenPipeError:
            return Gst.FlowReturn.EOS
        finally:
            buffer.unmap(info)
        return Gst.FlowReturn.OK

    pipeline.get_by_name("sink").connect("new-sample", on_sample)
    encoder_src = pipeline.get_by_name("enc").get_static_pad("src")
    loop = GLib.MainLoop()

    def keyframe() -> bool:
        encoder_src.send_event(GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0))
        return True

    def on_message(_bus, message) -> None:
        if message.type == Gst.MessageType.EOS:
            loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            err, _debug = message.parse_error()
            sys.stderr.write(f"x264-encoder: {err.message}\n")
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, keyframe)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or False)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
