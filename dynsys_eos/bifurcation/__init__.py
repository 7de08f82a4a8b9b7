"""Bifurcations along a branch: location at any precision, normal forms, branch switching."""

from .locate import locate, locate_all
from .point import BifurcationPoint
from .switch import switch

__all__ = ["BifurcationPoint", "locate", "locate_all", "switch"]
