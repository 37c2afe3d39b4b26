docker history baked-image
