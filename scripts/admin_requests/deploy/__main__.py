from __future__ import annotations

import sys

from admin_requests.deploy.cli import main

sys.exit(main())
