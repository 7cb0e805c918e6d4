from __future__ import annotations

import sys

from admin_requests.cli import main

sys.exit(main())
