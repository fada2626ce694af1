"""An IP camera for the agent's tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0) playing a recorded H.264 clip at rtsp://127.0.0.1:PORT/door
to clients that pass Digest authentication.

Usage: rtsp_camera.py CLIP USER PASSWORD. Prints the port it listens on, then
serves until killed. Each client gets the clip from its start.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

ROLE = "camera-client"


def main():
    clip, user, password = sys.argv[1:4]
    Gst.init(None)

    factory = GstRtspServer.RTSPMediaFactory()
    # The MP4's H.264 as recorded, paced in real time; parameter sets before
    # every key frame, as cameras send them.
    factory.set_launch(
        f'( filesrc location="{clip}" ! qtdemux ! rtph264pay name=pay0 pt=96 config-interval=-1 )'
    )
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role(ROLE, "media.factory.access", True)
    permissions.add_permission_for_role(ROLE, "media.factory.construct", True)
    factory.set_permissions(permissions)

    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    auth.add_digest(user, password, token)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")
    server.set_auth(auth)
    server.get_mount_points().add_factory("/door", factory)
    server.attach(None)
    print(server.get_bound_port(), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
