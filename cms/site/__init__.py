"""The reference pages readers see, server-rendered from the API's own answers.

Every page asks the read API in-process (:func:`cms.site.views.api_get`), so it is served
from the same stored payloads as the API (warm: next to no SQL) and shows exactly what a
front end built on the API would show.
"""
