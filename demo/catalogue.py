"""The demo's people, vendors, products and orders: the same in both demo stores (the
marketplace's seed_demo and the Oscar shop's seed_oscar)."""

PASSWORD = "demo"

USERS = [
    # username, first, last, e-mail
    ("alice", "Alice", "Archer", "alice@customers.example"),
    ("carol", "Carol", "Chen", "carol@customers.example"),
    ("bob", "Bob", "Baker", "bob@bobs-bikes.example"),
    ("dave", "Dave", "Dawson", "dave@daves-outdoor.example"),
]

VENDORS = [("bobs-bikes", "Bob's Bikes", "bob"), ("daves-outdoor", "Dave's Outdoor", "dave")]

PRODUCTS = [
    ("City bike Comfort 7", "549.00", "bobs-bikes"),
    ("Bike helmet Aero", "79.90", "bobs-bikes"),
    ("LED bike lights set", "34.50", "bobs-bikes"),
    ("Two-person tent Ridge", "189.00", "daves-outdoor"),
    ("Sleeping bag −5 °C", "119.00", "daves-outdoor"),
    ("Camping stove Mini", "45.00", "daves-outdoor"),
    ("Insulated water bottle", "24.90", None),
    ("Gift card €50", "50.00", None),
]

# number, customer (None: guest), days ago, status, [(product, qty)]
ORDERS = [
    (
        "1001",
        "alice",
        3,
        "Shipped",
        [("Bike helmet Aero", 1), ("Two-person tent Ridge", 1), ("Insulated water bottle", 2)],
    ),
    ("1002", "alice", 12, "Delivered", [("City bike Comfort 7", 1), ("LED bike lights set", 1)]),
    ("1003", "alice", 30, "Delivered", [("Sleeping bag −5 °C", 2)]),
    ("1004", "alice", 45, "Delivered", [("Gift card €50", 1)]),
    ("1005", "carol", 5, "Processing", [("Camping stove Mini", 1), ("Bike helmet Aero", 1)]),
    ("1006", None, 2, "Processing", [("Sleeping bag −5 °C", 1)]),
    ("1007", "alice", 20, "Delivered", [("Sleeping bag −5 °C", 1), ("Camping stove Mini", 1)]),
]
