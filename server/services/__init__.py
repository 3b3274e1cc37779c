"""Server services: the work behind the views, with no HTTP in them."""
