docker run --rm baked-image
