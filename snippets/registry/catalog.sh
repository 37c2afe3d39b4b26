curl --silent http://localhost:5000/v2/_catalog
