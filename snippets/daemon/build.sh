docker build -t baked-image .
