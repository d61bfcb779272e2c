"""Demo mode: a lesson on the projector, followed live by the room.

- :mod:`.lesson` reads and checks a lesson file (the example and the ordered slides);
- :mod:`.slides` computes once what every slide shows;
- :mod:`.rooms` keeps each room's position and its connections, with the caps;
- :mod:`.routes` serves the pages, the API and the room socket;
- :mod:`.mode` turns the settings into all of that;
- :mod:`.launch` is ``convlens demo``.

Nothing is imported here, so that ``convlens`` can check a lesson without loading the web
framework.
"""
