#!/usr/bin/python3
"""A local RTSP camera for tests and benchmarks: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server) serving H.264 (x264, constrained baseline, 1 s GOP) of videotestsrc at
rtsp://127.0.0.1:PORT/cam. Binds 127.0.0.1 only. Prints "ready PORT" once it listens.
With sound (a 440 Hz sine at 0.1 of full scale from audiotestsrc, mono): /cam-aac (H.264 + AAC,
avenc_aac, RTP MP4A-LATM), /cam-opus (H.264 + Opus 48 kHz) and /cam-pcma (H.264 + G.711 A-law).
With GOP_SECONDS the GOP is that long; with SUB_WIDTH SUB_HEIGHT a second mount, /sub, serves
the same picture smaller (a camera's sub stream; 500 kbit/s, same GOP), and /main is /cam.

usage: video-rtsp-server.py PORT WIDTH HEIGHT FPS [GOP_SECONDS [SUB_WIDTH SUB_HEIGHT]]
"""
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    port, width, height, fps = (int(a) for a in sys.argv[1:5])
    gop = fps * int(sys.argv[5]) if len(sys.argv) > 5 else fps
    sub = (int(sys.argv[6]), int(sys.argv[7])) if len(sys.argv) > 7 else None
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=2000 "
        "! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    video = (
        f"videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=2000 "
        "! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
    )
    tone = "audiotestsrc is-live=true wave=sine freq=440 volume=0.1 ! audioconvert ! audioresample"
    audio_mounts = {
        "/cam-aac": f"{tone} ! audio/x-raw,rate=48000,channels=1 ! avenc_aac ! aacparse ! rtpmp4apay name=pay1 pt=97",
        "/cam-opus": f"{tone} ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 ! rtpopuspay name=pay1 pt=98",
        "/cam-pcma": f"{tone} ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8",
    }
    for mount, audio in audio_mounts.items():
        with_audio = GstRtspServer.RTSPMediaFactory()
        with_audio.set_launch(f"( {video} {audio} )")
        with_audio.set_shared(True)
        server.get_mount_points().add_factory(mount, with_audio)
    server.get_mount_points().add_factory("/main", factory)
    if sub:
        sub_factory = GstRtspServer.RTSPMediaFactory()
        sub_factory.set_launch(
            f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={sub[0]},height={sub[1]},framerate={fps}/1 "
            f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=500 "
            "! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        sub_factory.set_shared(True)
        server.get_mount_points().add_factory("/sub", sub_factory)
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
