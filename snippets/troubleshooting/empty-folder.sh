mkdir empty-folder
cd empty-folder
