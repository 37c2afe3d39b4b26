mkdir ../upper-case-name
cd ../upper-case-name
cp ../docker-architecture/Dockerfile .
docker build -t My-Alpine-Image .
