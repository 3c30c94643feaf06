#!/usr/bin/python3
"""The RTSP camera of the "streams" benchmarks: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server) serving live H.264 (x264, constrained baseline, zero latency, a keyframe
every GOP seconds, AUD and SPS/PPS in band) of a moving videotestsrc at rtsp://127.0.0.1:PORT/cam.
The media is shared: every client (lancam-device's ffmpeg, Janus) gets the same encode, which runs
only while a client is connected. Binds 127.0.0.1 only (and runs inside the benchmark's network
namespace). Prints "ready PORT" once it listens.

usage: rtsp-camera.py PORT WIDTH HEIGHT FPS GOP_SECONDS BITRATE_KBPS
"""
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    if len(sys.argv) != 7:
        sys.stderr.write(__doc__)
        return 2
    port, width, height, fps, gop, kbps = (int(a) for a in sys.argv[1:7])
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps * gop} bitrate={kbps} aud=true "
        "! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.stderr.write(f"cannot listen on 127.0.0.1:{port}\n")
        return 1
    print(f"ready {server.get_bound_port()}", flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or False)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
