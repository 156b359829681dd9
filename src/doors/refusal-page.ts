// Every browser door answers a refusal with the one page of src/pages/ (French first, one stylesheet).
export { renderRefusalPage } from '../pages/refusal-page.js';
