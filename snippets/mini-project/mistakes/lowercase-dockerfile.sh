mkdir ../lowercase-dockerfile
cd ../lowercase-dockerfile
cp ../docker-architecture/Dockerfile dockerfile
docker build -t $IMAGE_NAME .
