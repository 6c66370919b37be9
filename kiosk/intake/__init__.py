"""Intake: the villager's walk from the home screen to a receipt."""

from flask import Blueprint

bp = Blueprint("intake", __name__)
