mkdir ../no-context
cd ../no-context
cp ../docker-architecture/Dockerfile .
docker build -t $IMAGE_NAME
