"""Running the federation on Flower's Deployment Engine: credentials, command plans."""
