"""mkdocs-macros module: the lesson's shared values, read from the runnable snippets themselves."""

from pathlib import Path

from doclab.values import lesson_values


def define_env(env):
    env.variables.update(lesson_values(Path(env.conf.config_file_path).parent / "snippets"))
