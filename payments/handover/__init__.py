"""After the sale: the buyer's receipt, one list of every sale, and handing the items over once."""
