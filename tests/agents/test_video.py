"""Videos from ``roadgym watch --record`` (issue 14): checked, shareable, browser-playable."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pytest

from roadgym.agents import watch
from roadgym.agents.watch import count_video_frames, write_video

FRAMES = [np.full((48, 62, 3), 10 * i, np.uint8) for i in range(12)]


def _fourcc(path) -> str:
    code = int(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FOURCC))
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))


def test_videos_are_h264_when_imageio_ffmpeg_is_installed(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    path = write_video(FRAMES, tmp_path / "drive.mp4", fps=10)
    assert count_video_frames(path) == len(FRAMES)
    assert _fourcc(path) in ("avc1", "h264")  # H.264 plays in browsers; mp4v does not


def test_without_imageio_ffmpeg_opencv_writes_mp4v(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import raises ImportError
    path = write_video(FRAMES, tmp_path / "drive.mp4", fps=10)
    assert count_video_frames(path) == len(FRAMES) and _fourcc(path) in ("mp4v", "FMP4")


def test_video_files_get_the_umask_mode_not_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        path = write_video(FRAMES, tmp_path / "drive.mp4", fps=10)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_writer_that_drops_frames_raises_and_leaves_no_file(tmp_path, monkeypatch):
    # What a full disk does to OpenCV's writer: it stops storing frames and says nothing.
    def truncating(name, frames, fps):
        watch._write_mp4v(name, frames[: len(frames) // 2], fps, tmp_path)

    monkeypatch.setattr(watch, "_write_h264", truncating)
    with pytest.raises(OSError, match=r"stored 6 of 12 frames \(is the disk full\?\)"):
        write_video(FRAMES, tmp_path / "drive.mp4", fps=10)
    assert list(tmp_path.iterdir()) == []
