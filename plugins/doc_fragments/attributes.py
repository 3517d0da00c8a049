# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The one attributes fragment of helix.zfs: every module states its support honestly."""

    # Modules that change state. Each module adds its own support levels.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description:
      - Can run in check mode and return the changed status it predicts without modifying the node.
      - In check mode the module returns in RV(ignore:commands) the exact zfs/zpool commands it
        would run; they come from the same plan as an applied run.
  diff_mode:
    description:
      - Returns the state before and after (or the predicted after in check mode) in diff mode.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
"""

    # Read-only modules (the *_info family).
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module never changes the node, so it runs the same in check mode.
  diff_mode:
    support: N/A
    details:
      - This module never changes the node.
  idempotent:
    support: full
    details:
      - This module never changes the node.
"""
