import pytest

from doclab.settings import Settings
from doclab.lesson.values import LessonValueError, lesson_values


def test_values_come_from_the_snippets_that_run():
    values = lesson_values(Settings.from_env({}).snippets_dir)
    assert values["base_image"] == "alpine:3.18" and values["image_name"] == "my-alpine-image"
    assert values["build_command"] == "docker build -t $IMAGE_NAME ."
    assert (values["base_repository"], values["base_tag"]) == ("alpine", "3.18")


def test_a_missing_value_names_the_file(tmp_path):
    (tmp_path / "mini-project").mkdir()
    (tmp_path / "mini-project" / "Dockerfile").write_text("# empty\n")
    with pytest.raises(LessonValueError, match="Dockerfile: no line matches"):
        lesson_values(tmp_path)
