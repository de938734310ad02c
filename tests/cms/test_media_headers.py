"""Uploaded files are served so that no browser sniffs them into something else."""

from tests.images import image_bytes


def test_media_files_carry_nosniff_and_their_own_type(client, media_root, settings):
    (media_root / "logo.png").write_bytes(image_bytes("PNG"))
    (media_root / "notes.txt").write_text("<script>alert(1)</script>")
    image = client.get("/media/logo.png")
    assert image.status_code == 200
    assert image["X-Content-Type-Options"] == "nosniff"
    assert image["Content-Type"] == "image/png"
    text = client.get("/media/notes.txt")
    assert text["X-Content-Type-Options"] == "nosniff"
    assert text["Content-Type"].startswith("text/plain")
