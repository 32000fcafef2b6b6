// CSS files imported for their side effect.
declare module '*.css';
