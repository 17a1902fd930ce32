document.body.append('Tureen');
