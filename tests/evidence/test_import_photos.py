"""`cellwatch import photos DIR`: loaded, duplicate and rejected files, with reasons."""

import os

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine
from app.settings import get_settings
from tests.evidence import samples


@pytest.fixture
def env(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(data))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    engine = make_engine(f"sqlite:///{data}/cellwatch.db")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO establishment (code, name, category, region, updated_at) "
                          "VALUES ('MDI', 'Moorland', '', '', '2025-01-01')"))
        conn.execute(text("INSERT INTO cell (establishment_id, label, wing, landing, capacity, "
                          "updated_at) VALUES (1, 'A-1-014', 'A', '1', 1, '2025-01-01')"))
    yield runner, tmp_path, engine
    engine.dispose()
    get_settings.cache_clear()


def _put(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_import_photos_summary(env):
    runner, tmp, engine = env
    tree = tmp / "photos"
    _put(tree / "MDI" / "A-1-014" / "one.jpg", samples.jpeg_with_exif())
    _put(tree / "mdi" / "a-1-014" / "two.png", samples.png())  # case does not matter
    _put(tree / "MDI" / "A-1-014" / "copy.JPG", samples.jpeg_with_exif())  # same bytes
    _put(tree / "MDI" / "A-1-014" / "notes.jpg", samples.text_as_jpg())
    _put(tree / "MDI" / "A-1-014" / "readme.txt", b"hello")
    _put(tree / "MDI" / "B-9-999" / "x.jpg", samples.jpeg(7))
    _put(tree / "XYZ" / "A-1-001" / "y.jpg", samples.jpeg(8))
    outside = tmp / "secret.jpg"
    _put(outside, samples.jpeg(9))
    os.symlink(outside, tree / "MDI" / "A-1-014" / "link.jpg")

    result = runner.invoke(cli, ["import", "photos", str(tree)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "loaded 2, duplicate 1, rejected 5" in out
    assert "duplicate  MDI/A-1-014/one.jpg" in out or "duplicate  MDI/A-1-014/copy.JPG" in out
    assert "MDI/A-1-014/notes.jpg: “notes.jpg” is not an image" in out
    assert "MDI/A-1-014/readme.txt: not a .jpg, .jpeg, .png or .webp file" in out
    assert "MDI/A-1-014/link.jpg: symbolic link, not followed" in out
    assert "MDI/B-9-999/x.jpg: unknown cell B-9-999 in MDI" in out
    assert "XYZ/A-1-001/y.jpg: unknown establishment XYZ" in out
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reference_photo")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM image")).scalar() == 2
        actions = conn.execute(text("SELECT action FROM audit_event")).scalars().all()
    assert actions.count("library.photo.added") == 2

    again = runner.invoke(cli, ["import", "photos", str(tree)])
    assert "loaded 0, duplicate 3, rejected 5" in again.output


def test_degenerate_pictures_and_fifos_are_reported_and_the_rest_loaded(env):
    """A one-pixel line, a single pixel and a FIFO named .jpg: each reported with its reason,
    the import goes on (a FIFO used to hang it for ever) and loads the good photo."""
    import io

    from PIL import Image as PILImage

    def png(size):
        out = io.BytesIO()
        PILImage.new("RGB", size, (90, 90, 90)).save(out, "PNG")
        return out.getvalue()

    runner, tmp, engine = env
    cell = tmp / "photos" / "MDI" / "A-1-014"
    _put(cell / "a-line.png", png((40000, 1)))
    _put(cell / "b-dot.png", png((1, 1)))
    os.mkfifo(cell / "c-pipe.jpg")
    _put(cell / "d-good.jpg", samples.jpeg_with_exif())
    result = runner.invoke(cli, ["import", "photos", str(tmp / "photos")])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert "c-pipe.jpg" in result.output and "not a regular file" in result.output
    for name in ("a-line.png", "b-dot.png"):
        assert name in result.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM reference_photo")).scalar() == 1
