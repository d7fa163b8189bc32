"""Files at the fake Telegram: uploads resolved (sent under a field, attach://, a known file_id or a URL), photos
checked to be images, file ids handed out, and the rules of an album (sendMediaGroup)."""
from __future__ import annotations

import itertools
import struct
from typing import Any

from .telegram_json import Files, Json, Upload, bad_request

MAX_ALBUM = 10
ALBUM_TYPES = {"photo": "photo", "video": "document", "audio": "document", "document": "document"}
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of an uploaded photo; refuse bytes that are not an image, as Telegram does."""
    if not data.startswith(_IMAGE_MAGIC):
        raise bad_request("IMAGE_PROCESS_FAILED")
    if data.startswith(_IMAGE_MAGIC[0]) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk always comes first
        return width, height
    return 1280, 720  # other formats: the size is not needed for anything the fake checks


def album_kinds(media: Any) -> list[str]:
    """The message kind of each item of a sendMediaGroup, or the 400 Telegram gives for the album."""
    if media is None:
        raise bad_request('parameter "media" is required')
    if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
        raise bad_request("can't parse media JSON object")
    if not media or len(media) > MAX_ALBUM:
        raise bad_request("there are no messages to send" if not media else "too many messages to send as an album")
    kinds = [item.get("type") for item in media]
    for kind in kinds:
        if kind not in ALBUM_TYPES:
            raise bad_request(f'can\'t parse InputMedia: type "{kind}" can\'t be used in sendMediaGroup')
    if "document" in kinds and set(kinds) != {"document"}:
        raise bad_request("document can't be mixed with other media types")
    return [ALBUM_TYPES[kind] for kind in kinds]


def file_fields(kind: str, data: bytes | None, upload: Upload | None = None) -> Json:
    """What a SentMessage keeps of its file: a photo's bytes, or a document's bytes and name."""
    if kind == "photo":
        return {"photo_bytes": data}
    return {"document_bytes": data, "file_name": upload.filename if upload is not None else None}


class FileStore:
    """Every file the bot sent, by the file_id Telegram gave it (None: a URL the fake did not download)."""

    def __init__(self) -> None:
        self._files: dict[str, bytes | None] = {}
        self._ids = itertools.count(1)

    @staticmethod
    def upload(ref: Any, files: Files, field_name: str | None) -> Upload | None:
        """The file part a field means: one named attach://<name> in its value, else one sent under the field."""
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://"):])
            if upload is None:
                raise bad_request("can't parse InputMedia: media not found" if field_name is None else
                                  "wrong file identifier/HTTP URL specified")
            return upload
        return None if field_name is None else files.get(field_name)

    def file(self, ref: Any, upload: Upload | None, what: str, photo: bool) -> tuple[bytes | None, str]:
        """Bytes and file_id for an upload (sent or attached), a known file_id or a URL."""
        if upload is None and isinstance(ref, str) and ref in self._files:
            return self._files[ref], ref
        if upload is None and isinstance(ref, str) and ref.startswith(("http://", "https://")):
            data = None  # Telegram would download it; the fake keeps no bytes
        elif upload is None:
            raise bad_request(f"there is no {what} in the request" if ref is None else
                              "wrong file identifier/HTTP URL specified")
        else:
            data = upload.data
            if not data:
                raise bad_request("file must be non-empty")
            if photo:
                image_size(data)
        file_id = f"F{next(self._ids)}"
        self._files[file_id] = data
        return data, file_id
