"""graphgrad neural-network layer: modules, layers, losses, optimisers and datasets."""
