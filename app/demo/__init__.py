"""Demo mode: a lesson on the projector, followed live by the room.

- :mod:`.lesson` reads and checks a lesson file (the example and the ordered slides);
- :mod:`.walk` places each slide on the walk over the engine's steps (``engine.known``);
- :mod:`.slides` computes once what every beat shows, as the presenter and the room see it;
- :mod:`.rooms` keeps each room's position and its connections, with the caps;
- :mod:`.backend` is how the routes reach the rooms: this process's Hub, or rooms shared
  by several workers on Redis (:mod:`app.store.rooms`);
- :mod:`.guard` throttles wrong keys per address; :mod:`.store` keeps rooms across restarts;
- :mod:`.qr` draws the audience link as a QR code;
- :mod:`.routes` serves the pages, the API and the room socket;
- :mod:`.mode` turns the settings into all of that;
- :mod:`.launch` is ``convlens demo``.

Nothing is imported here, so that ``convlens`` can check a lesson without loading the web
framework.
"""
