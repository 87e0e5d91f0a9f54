console.log("client-side router here");
