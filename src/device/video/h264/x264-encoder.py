#!/usr/bin/python3
"""The device's one H.264 encoder for raw sources (the test pattern): raw I420 frames on stdin,
one record per encoded picture on stdout: a 4-byte big-endian length, then the picture as Annex B
(an access unit delimiter first, SPS/PPS before every IDR). Framed, so the device hands a picture
on the moment it is encoded instead of when the next one begins. libx264 through GStreamer's x264enc, because a running x264enc takes a keyframe
request (GStreamer's force-key-unit event): SIGUSR1 asks for one. ffmpeg's CLI cannot be asked
for a keyframe while it runs.

A hardware encoder is used where one is present and works (ENCODER auto, the default): the
V4L2 mem2mem encoder of a Raspberry Pi 4 (GStreamer's v4l2h264enc, the kernel's
bcm2835-codec; ffmpeg calls it h264_v4l2m2m), then VA-API on a render node (vah264enc or
vaapih264enc; ffmpeg's h264_vaapi), else libx264. "Works" means the element exists and reaches
READY (it opens its device); the choice is written to stderr as "encoder: NAME". ENCODER x264
forces libx264.

usage: x264-encoder.py WIDTH HEIGHT FPS KBPS [auto|x264]
"""
import glob
import signal
import struct
import sys

# Until GLib's handler is installed below, a keyframe request must not kill the encoder.
signal.signal(signal.SIGUSR1, signal.SIG_IGN)


def die_with_parent() -> None:
    """The encoder must not outlive the device: a device killed outright (SIGKILL, OOM) sends no
    SIGTERM, and an encoder blocked inside GStreamer never sees its stdin close (seen: one ran on
    for 48 minutes). Linux's PR_SET_PDEATHSIG kills it with its parent."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


die_with_parent()

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo  # noqa: E402


def usable(factory: str) -> bool:
    """The element exists and opens its device (READY)."""
    element = Gst.ElementFactory.make(factory, None)
    if element is None:
        return False
    try:
        return element.set_state(Gst.State.READY) != Gst.StateChangeReturn.FAILURE
    finally:
        element.set_state(Gst.State.NULL)


def encoder_chain(choice: str, fps: int, kbps: int) -> tuple[str, str]:
    """(name, the pipeline from raw frames to H.264 with the encoder named enc)."""
    gop = fps * 2
    if choice == "auto":
        if usable("v4l2h264enc"):
            return "v4l2h264enc", (
                "videoconvert ! v4l2h264enc name=enc "
                f'extra-controls="controls,video_bitrate={kbps * 1000},h264_i_frame_period={gop},repeat_sequence_header=1" '
                "! video/x-h264,level=(string)4,profile=(string)constrained-baseline "
            )
        if glob.glob("/dev/dri/renderD*"):
            if usable("vah264enc"):
                return "vah264enc", f"vapostproc ! vah264enc name=enc bitrate={kbps} key-int-max={gop} ! video/x-h264,profile=constrained-baseline "
            if usable("vaapih264enc"):
                return "vaapih264enc", f"vaapipostproc ! vaapih264enc name=enc bitrate={kbps} keyframe-period={gop} ! video/x-h264,profile=constrained-baseline "
    return "x264enc", (
        f"x264enc name=enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} "
        f"key-int-max={gop} aud=true byte-stream=true "
        "! video/x-h264,profile=constrained-baseline,stream-format=byte-stream "
    )


def main() -> int:
    width, height, fps, kbps = (int(a) for a in sys.argv[1:5])
    choice = sys.argv[5] if len(sys.argv) > 5 else "auto"
    Gst.init(None)
    name, chain = encoder_chain(choice, fps, kbps)
    sys.stderr.write(f"encoder: {name}\n")
    sys.stderr.flush()
    pipeline = Gst.parse_launch(
        f"fdsrc fd=0 blocksize={width * height * 3 // 2} do-timestamp=false "
        f"! rawvideoparse width={width} height={height} format=i420 framerate={fps}/1 "
        f"! {chain}"
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
