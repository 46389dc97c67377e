from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

# Importing the modules registers their views on bp.
from webapp.api import (  # noqa: E402
    customers,  # noqa: F401  (GET/POST /api/customers)
    products,  # noqa: F401  (GET/POST /api/products, GET /api/products/<id>)
    routes,  # noqa: F401
)
