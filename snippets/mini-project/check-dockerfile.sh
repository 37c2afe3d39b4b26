cat Dockerfile
