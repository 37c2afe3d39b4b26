"""mkdocs-macros module: the lesson's shared values, read from the runnable snippets themselves."""

from doclab.values import lesson_values
from doclab.settings import Settings


def define_env(env):
    env.variables.update(lesson_values(Settings.from_env().snippets_dir))
