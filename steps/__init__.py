"""One module per pipeline step; each exposes one pure builder: settings + upstream properties -> SDK step(s)."""
