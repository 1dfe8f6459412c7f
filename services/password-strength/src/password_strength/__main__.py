from password_strength.server import main

raise SystemExit(main())
