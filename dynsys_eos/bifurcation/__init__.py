"""Bifurcations along a branch: location at any precision, normal forms, branch switching."""

from .locate import locate, locate_all
from .point import BifurcationPoint

__all__ = ["BifurcationPoint", "locate", "locate_all"]
