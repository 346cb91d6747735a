"""What publishing writes into a file and the register of what went out."""
